package agent

import (
	"context"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// StorageClassName is the sandbox's default StorageClass; its provisioner is the agent itself.
const (
	StorageClassName = "standard"
	Provisioner      = "klab.dev/local"
)

// runProvisioner makes sure the default StorageClass exists, binds every pending PVC of that class to a new
// PersistentVolume backed by <DataDir>/volumes/<namespace>/<claim>, and, as an external provisioner does,
// deletes the data and the PV once the PV controller marked it Released (reclaim policy Delete). The
// kube-controller-manager's binder and PVC/PV protection controllers do the rest.
func (a *agent) runProvisioner(ctx context.Context) {
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClassName, Annotations: map[string]string{
			"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}
	if _, err := a.client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
		a.logf("agent: default StorageClass: %v", err)
	}
	factory := informers.NewSharedInformerFactory(a.client, 0)
	claims := factory.Core().V1().PersistentVolumeClaims().Informer()
	volumes := factory.Core().V1().PersistentVolumes().Informer()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	for prefix, inf := range map[string]cache.SharedIndexInformer{claimKey: claims, volumeKey: volumes} {
		enqueue := func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				q.Add(prefix + key)
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }}); err != nil {
			a.logf("agent: provisioner: %v", err)
			return
		}
	}
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), claims.HasSynced, volumes.HasSynced) {
		factory.Shutdown()
		return
	}
	for {
		key, quit := q.Get()
		if quit {
			break
		}
		var err error
		if name, ok := strings.CutPrefix(key, volumeKey); ok {
			if obj, exists, gerr := volumes.GetStore().GetByKey(name); gerr == nil && exists {
				err = a.syncVolume(ctx, obj.(*corev1.PersistentVolume))
			}
		} else if obj, exists, gerr := claims.GetStore().GetByKey(strings.TrimPrefix(key, claimKey)); gerr == nil && exists {
			err = a.syncClaim(ctx, obj.(*corev1.PersistentVolumeClaim))
		}
		if err != nil && ctx.Err() == nil {
			a.logf("agent: provisioner %s: %v", key, err)
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
	factory.Shutdown()
}

// The provisioner's work queue holds claims and volumes.
const (
	claimKey  = "claim/"
	volumeKey = "volume/"
)

// syncVolume deletes a volume of ours that its claim released (reclaim policy Delete): its data folder, then
// the PV object, as an external provisioner's Delete does.
func (a *agent) syncVolume(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Annotations["pv.kubernetes.io/provisioned-by"] != Provisioner || pv.Status.Phase != corev1.VolumeReleased ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
		return nil
	}
	if ref := pv.Spec.ClaimRef; ref != nil {
		// Only a folder this provisioner made: the claim's, under the data dir.
		if pv.Spec.HostPath != nil && pv.Spec.HostPath.Path == ClaimDir(a.cfg.DataDir, ref.Namespace, ref.Name) {
			if err := os.RemoveAll(pv.Spec.HostPath.Path); err != nil {
				return fmt.Errorf("volume %s: %w", pv.Name, err)
			}
		}
	}
	if err := a.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{
		Preconditions: metav1.NewUIDPreconditions(string(pv.UID))}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("volume %s: %w", pv.Name, err)
	}
	return nil
}

func (a *agent) syncClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.DeletionTimestamp != nil || pvc.Spec.VolumeName != "" || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != StorageClassName {
		return nil
	}
	dir := ClaimDir(a.cfg.DataDir, pvc.Namespace, pvc.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	pvName := "pvc-" + string(pvc.UID)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": Provisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              StorageClassName,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace,
				Name: pvc.Name, UID: pvc.UID},
		},
	}
	pvs := a.client.CoreV1().PersistentVolumes()
	if _, err := pvs.Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	if cur, err := pvs.Get(ctx, pvName, metav1.GetOptions{}); err == nil && cur.Status.Phase != corev1.VolumeBound {
		cur.Status.Phase = corev1.VolumeBound
		if _, err := pvs.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
		}
	}
	claim := pvc.DeepCopy()
	claim.Spec.VolumeName = pvName
	if claim.Annotations == nil {
		claim.Annotations = map[string]string{}
	}
	claim.Annotations["pv.kubernetes.io/bind-completed"] = "yes"
	claim.Annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
	claim.Annotations["volume.kubernetes.io/storage-provisioner"] = Provisioner
	updated, err := a.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, claim, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	updated.Status.Phase = corev1.ClaimBound
	updated.Status.AccessModes = pvc.Spec.AccessModes
	updated.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: size}
	if _, err := a.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("claim %s/%s status: %w", pvc.Namespace, pvc.Name, err)
	}
	return nil
}
