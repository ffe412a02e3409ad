package agent

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

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
	pvcProtection    = "kubernetes.io/pvc-protection"
	pvProtection     = "kubernetes.io/pv-protection"
)

// runProvisioner makes sure the default StorageClass exists and binds every pending PVC of that class to
// a new PersistentVolume backed by <DataDir>/volumes/<namespace>/<claim>. With no PV controller and no
// PVC-protection controller in the sandbox, it also releases deleted claims and their volumes.
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
	inf := factory.Core().V1().PersistentVolumeClaims().Informer()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			q.Add(key)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }}); err != nil {
		a.logf("agent: provisioner: %v", err)
		return
	}
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()
	// Claims being deleted wait until no pod uses them: look again now and then.
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, obj := range inf.GetStore().List() {
					if pvc := obj.(*corev1.PersistentVolumeClaim); pvc.DeletionTimestamp != nil {
						enqueue(pvc)
					}
				}
			}
		}
	}()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		factory.Shutdown()
		return
	}
	for {
		key, quit := q.Get()
		if quit {
			break
		}
		obj, exists, err := inf.GetStore().GetByKey(key)
		if err == nil && exists {
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

func (a *agent) syncClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.DeletionTimestamp != nil {
		return a.releaseClaim(ctx, pvc)
	}
	if pvc.Spec.VolumeName != "" || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != StorageClassName {
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

// releaseClaim lets a deleted claim go once no running pod uses it, and deletes its volume and data.
func (a *agent) releaseClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if !slices.Contains(pvc.Finalizers, pvcProtection) {
		return nil
	}
	pods, err := a.client.CoreV1().Pods(pvc.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	for _, p := range pods.Items {
		if terminal(&p) {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name {
				return nil // still in use: looked at again later
			}
		}
	}
	claim := pvc.DeepCopy()
	claim.Finalizers = slices.DeleteFunc(claim.Finalizers, func(f string) bool { return f == pvcProtection })
	if _, err := a.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	if pvc.Spec.VolumeName != "" {
		pvs := a.client.CoreV1().PersistentVolumes()
		if pv, err := pvs.Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{}); err == nil && pv.Annotations["pv.kubernetes.io/provisioned-by"] == Provisioner {
			pv.Finalizers = slices.DeleteFunc(pv.Finalizers, func(f string) bool { return f == pvProtection })
			if _, err := pvs.Update(ctx, pv, metav1.UpdateOptions{}); err == nil {
				_ = pvs.Delete(ctx, pv.Name, metav1.DeleteOptions{})
			}
			_ = os.RemoveAll(ClaimDir(a.cfg.DataDir, pvc.Namespace, pvc.Name))
		}
	}
	return nil
}
